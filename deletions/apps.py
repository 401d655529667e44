from django.apps import AppConfig


class DeletionsConfig(AppConfig):
    name = "deletions"
    verbose_name = "Deletions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Transition hooks, registered in every process (web, worker, beat): the engine's
        # wake-ups, and the e-mails to customers (approved, rejected, completed).
        from deletions.notifications import customer_emails as notifications
        from deletions.tasks import engine  # noqa: F401

        notifications.register()
