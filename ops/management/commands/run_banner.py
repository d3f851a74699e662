from django.core.management.base import BaseCommand

from ops.banner import run_banner


class Command(BaseCommand):
    help = "Print what `make run` shows at start: the address, every demo login, where mail goes."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    def handle(self, *args, url, **options):
        self.stdout.write(run_banner(url=url))
