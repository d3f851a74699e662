"""The roles a person holds in a tenant (one per Membership). Apart from the models so that a
module that may not import models (metrics, by the import contracts) can still name them."""

from django.db import models


class Role(models.TextChoices):
    PLANNER = "planner", "Planner"
    OPERATOR = "operator", "Operator"
    ADMIN = "admin", "Admin"
    LEGAL = "legal", "Legal"
    CLIENT = "client", "Client"


INTERNAL_ROLES = frozenset({Role.PLANNER, Role.OPERATOR, Role.ADMIN, Role.LEGAL})
