from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from watchlists import services
from watchlists.models import Watchlist

DEMO_SYMBOLS = ["AAPL", "MSFT", "NVDA", "BRK-B", "7203.T", "^GSPC", "EURUSD=X", "BTC-USD"]


class Command(BaseCommand):
    help = "Create the demo account and its watchlist when they do not exist, and print how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="tickerwatch-demo")
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    @transaction.atomic
    def handle(self, *args, username, password, url, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_password(password)
            # Staff and superuser so the demo also shows the admin; a local demo only.
            user.is_staff = user.is_superuser = True
            user.save()
        if not Watchlist.objects.filter(owner=user).exists():
            services.watchlist_create(owner=user, name="Demo", symbols=DEMO_SYMBOLS)

        self.stdout.write(self.style.SUCCESS(f"Tickerwatch is starting at {url}"))
        if created:
            self.stdout.write(f"Demo login: {username} / {password}  (also admin at {url}admin/)")
        else:
            self.stdout.write(f"Demo login: {username} (password as set earlier)")
        if settings.QUOTE_PROVIDER == "yahoo":
            self.stdout.write("Prices come from Yahoo. Offline? Run `QUOTE_PROVIDER=simulated make run` instead.")
        else:
            self.stdout.write(f"Prices come from the {settings.QUOTE_PROVIDER} provider.")
        self.stdout.write("Press Ctrl-C to stop every process.")
