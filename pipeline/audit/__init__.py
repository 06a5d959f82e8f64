"""Independent verification of signed PDFs, bundles and whole archives, and the auditor's trust
kit.
"""
