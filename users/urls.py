from django.contrib.auth import views as auth_views
from django.urls import path

from users import views

app_name = "users"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    # Django's LogoutView only accepts POST: a link or image cannot log anyone out.
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("settings/", views.settings_view, name="settings"),
    path("u/<str:handle>/follow/", views.follow, name="follow"),
    path("u/<str:handle>/unfollow/", views.unfollow, name="unfollow"),
]
