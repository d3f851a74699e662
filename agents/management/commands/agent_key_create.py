from django.core.management.base import BaseCommand, CommandError

from agents.models import AgentKey
from agents.services import agent_key_create
from audit.actors import Actor
from tenants.models import Tenant

NAME_MAX = AgentKey._meta.get_field("name").max_length


class Command(BaseCommand):
    help = "Create an agent API key for one tenant; the key is printed once, on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--name", required=True, help="agent or service name")

    def handle(self, *args, tenant, name, **options):
        name = name.strip()
        if not name or len(name) > NAME_MAX:
            raise CommandError(f"--name must be 1 to at most {NAME_MAX} characters")
        try:
            tenant_obj = Tenant.objects.get(slug=tenant)
        except Tenant.DoesNotExist as exc:
            raise CommandError(f"No tenant with slug {tenant!r}") from exc
        key, plain = agent_key_create(
            tenant=tenant_obj, name=name, actor=Actor.system("manage.py agent_key_create")
        )
        self.stdout.write(f"Created key {key.prefix} for {name} in {tenant_obj.slug}.")
        self.stdout.write("Store it now: it is not shown again.")
        self.stdout.write(plain)
