"""What the office reads: the index of every request and the monthly and fiscal-year reports."""
