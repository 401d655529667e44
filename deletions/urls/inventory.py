"""URL routes for the inventory pages of the staff console (mounted at /console/inventory/)."""

from django.urls import URLPattern, URLResolver, path

from deletions.views import inventory

urlpatterns: list[URLPattern | URLResolver] = [
    path("import/", inventory.import_upload, name="inventory_import"),
    path("import/confirm/", inventory.import_confirm, name="inventory_import_confirm"),
    path("unassigned/", inventory.unassigned, name="inventory_unassigned"),
    path("unassigned/assign/", inventory.assign, name="inventory_assign"),
]
