"""Console: the operator console and inspector web and API, over the database (read side).

Empty until the console issue lands.
"""
