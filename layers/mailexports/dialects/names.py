"""The dialects' names, as a task submitted through one records them (`task.dialect`).

Apart from the vendors' modules so that each of a vendor's declarations (its HTTP side,
its files, its webhook body) names the dialect without importing the others: a function
imports only the declarations it uses (dialect.py).
"""

PINPOINTE = "pinpointe"
SELZY = "selzy"
COPERNICA = "copernica"
CONSTANT_CONTACT = "constantcontact"
