from django.urls import path

from . import views

app_name = "watchlists"

urlpatterns = [
    path("", views.watchlist_list, name="list"),
    path("<int:watchlist_id>/", views.watchlist_detail, name="detail"),
    path("<int:watchlist_id>/rename/", views.watchlist_rename, name="rename"),
    path("<int:watchlist_id>/delete/", views.watchlist_delete, name="delete"),
    path("<int:watchlist_id>/symbols/", views.symbol_add, name="symbol_add"),
    path("<int:watchlist_id>/items/<int:item_id>/remove/", views.symbol_remove, name="symbol_remove"),
    path("<int:watchlist_id>/items/<int:item_id>/move/", views.symbol_move, name="symbol_move"),
]
