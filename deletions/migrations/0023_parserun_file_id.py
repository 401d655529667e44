"""Parse runs record the id of the uploaded file they processed (issue 20), indexed per workspace."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("deletions", "0022_parserun_without_duplicate_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="parserun",
            name="file_id",
            field=models.CharField(blank=True, db_default="", default="", max_length=255),
        ),
        migrations.AddIndex(
            model_name="parserun",
            index=models.Index(
                condition=models.Q(("file_id", ""), _negated=True),
                fields=["workspace", "file_id", "state"],
                name="parserun_ws_file",
            ),
        ),
    ]
