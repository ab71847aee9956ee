"""Registration, tokens, profiles and the follow graph."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from trends.api import services as api_services
from trends.api.idempotency import idempotent
from trends.api.pagination import IdCursorPagination
from trends.api.serializers import (
    FollowStateSerializer,
    MeSerializer,
    MeUpdateSerializer,
    PublicUserSerializer,
    RegisterSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)
from trends.api.views.common import (
    AUTH_READ_ERRORS,
    E400,
    E401,
    E404,
    E429,
    IDEMPOTENCY_HEADER,
    READ_ERRORS,
    WRITE_ERRORS,
    ApiView,
    user_by_handle,
)
from users import services as user_services
from users.models import Follow

ME_EXAMPLE = {
    "handle": "ada",
    "display_name": "Ada",
    "bio": "Numbers and engines.",
    "location": "London",
    "verified": False,
    "followers_count": 12,
    "following_count": 30,
    "posts_count": 4,
    "joined_at": "2026-11-26T12:00:00Z",
    "email": "ada@example.org",
    "languages": ["en"],
    "topics": ["science", "technology"],
    "show_local_trends": True,
    "is_staff": False,
}


@extend_schema(tags=["auth"])
class RegisterView(ApiView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_scope = "auth"

    @extend_schema(
        operation_id="auth_register",
        summary="Create an account and get its API token",
        request=RegisterSerializer,
        responses={201: TokenSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Register",
                value={"handle": "ada", "password": "analytical-engine-1843", "email": "ada@example.org"},
                request_only=True,
            ),
            OpenApiExample("Created", value={"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "user": ME_EXAMPLE}, response_only=True, status_codes=["201"]),
        ],
    )
    def post(self, request, *args, **kwargs):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = user_services.user_create(
            handle=data["handle"],
            password=data["password"],
            email=data.get("email", ""),
            display_name=data.get("display_name", ""),
        )
        token = api_services.token_issue(request=request, handle=user.username, password=data["password"])
        return Response({"token": token.key, "user": MeSerializer(user).data}, status=status.HTTP_201_CREATED)


@extend_schema(tags=["auth"])
class TokenView(ApiView):
    throttle_scope = "auth"

    def get_permissions(self):
        return [IsAuthenticated()] if self.request.method == "DELETE" else [AllowAny()]

    def get_authenticators(self):
        # Issuing a token needs no prior identity (and so no CSRF cookie); revoking does.
        if getattr(self, "request", None) is not None and self.request.method == "POST":
            return []
        return super().get_authenticators()

    @extend_schema(
        operation_id="auth_token_issue",
        summary="Exchange handle and password for an API token",
        request=TokenRequestSerializer,
        responses={200: TokenSerializer, **WRITE_ERRORS},
        auth=[],
        examples=[
            OpenApiExample("Log in", value={"handle": "ada", "password": "analytical-engine-1843"}, request_only=True),
            OpenApiExample("Token", value={"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "user": ME_EXAMPLE}, response_only=True),
        ],
    )
    def post(self, request, *args, **kwargs):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token = api_services.token_issue(request=request, **serializer.validated_data)
        return Response({"token": token.key, "user": MeSerializer(token.user).data})

    @extend_schema(
        operation_id="auth_token_revoke",
        summary="Revoke the caller's API token (log out everywhere the token is used)",
        request=None,
        responses={204: OpenApiResponse(description="Revoked (or there was none)."), 401: E401, 429: E429},
    )
    def delete(self, request, *args, **kwargs):
        api_services.token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["users"])
class MeView(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="users_me",
        summary="The caller's own account",
        responses={200: MeSerializer, 401: E401, 429: E429},
        examples=[OpenApiExample("Me", value=ME_EXAMPLE, response_only=True)],
    )
    def get(self, request, *args, **kwargs):
        return Response(MeSerializer(request.user).data)

    @extend_schema(
        operation_id="users_me_update",
        summary="Update the caller's profile and preferences (partial)",
        request=MeUpdateSerializer,
        responses={200: MeSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Preferences",
                value={"languages": ["en", "es"], "topics": ["sports"], "location": "Madrid"},
                request_only=True,
            ),
            OpenApiExample("Updated", value=ME_EXAMPLE, response_only=True),
        ],
    )
    def patch(self, request, *args, **kwargs):
        serializer = MeUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = api_services.user_profile_update(user=request.user, data=serializer.validated_data)
        return Response(MeSerializer(user).data)


PUBLIC_USER_EXAMPLE = {k: v for k, v in ME_EXAMPLE.items() if k in PublicUserSerializer().fields}


@extend_schema(tags=["users"])
class UserDetailView(ApiView):
    @extend_schema(
        operation_id="users_profile",
        summary="A public profile by handle (case-insensitive)",
        responses={200: PublicUserSerializer, **READ_ERRORS},
        examples=[OpenApiExample("Profile", value=PUBLIC_USER_EXAMPLE, response_only=True)],
    )
    def get(self, request, handle: str, *args, **kwargs):
        return Response(PublicUserSerializer(user_by_handle(handle)).data)


@extend_schema(tags=["users"])
class FollowView(ApiView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "follow"

    @extend_schema(
        operation_id="users_follow",
        summary="Follow a user (idempotent: following twice changes nothing)",
        request=None,
        parameters=[IDEMPOTENCY_HEADER],
        responses={200: FollowStateSerializer, 201: FollowStateSerializer, 404: E404, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Followed", value={"handle": "ada", "following": True, "changed": True}, response_only=True
            )
        ],
    )
    @idempotent
    def post(self, request, handle: str, *args, **kwargs):
        target = user_by_handle(handle)
        created = user_services.follow_create(follower=request.user, followee=target)
        return Response(
            {"handle": target.username, "following": True, "changed": created},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        operation_id="users_unfollow",
        summary="Unfollow a user (idempotent)",
        responses={200: FollowStateSerializer, 400: E400, 401: E401, 404: E404, 429: E429},
        examples=[
            OpenApiExample(
                "Unfollowed", value={"handle": "ada", "following": False, "changed": True}, response_only=True
            )
        ],
    )
    def delete(self, request, handle: str, *args, **kwargs):
        target = user_by_handle(handle)
        deleted = user_services.follow_delete(follower=request.user, followee=target)
        return Response({"handle": target.username, "following": False, "changed": deleted})


class FollowEdgePagination(IdCursorPagination):
    ordering = "-id"


class _FollowListView(generics.ListAPIView):
    pagination_class = FollowEdgePagination
    serializer_class = PublicUserSerializer
    filter_backends: list = []
    edge_user: str = ""

    def get_queryset(self):
        return Follow.objects.select_related(self.edge_user)

    def list(self, request, *args, **kwargs):
        # Page over follow edges (stable ids), then render the user at the other end of each edge.
        page = self.paginate_queryset(self.filter_edges(user_by_handle(kwargs["handle"])))
        users = [getattr(edge, self.edge_user) for edge in page]
        return self.get_paginated_response(PublicUserSerializer(users, many=True).data)


@extend_schema_view(
    get=extend_schema(
        tags=["users"],
        operation_id="users_followers",
        examples=[
            OpenApiExample(
                "Page",
                value={"next": "https://example.org/api/v1/users/ada/followers?cursor=cD0xMjM%3D", "previous": None,
                       "results": [PUBLIC_USER_EXAMPLE]},
                response_only=True,
            )
        ],
        summary="Who follows this user, most recent first",
        responses={200: PublicUserSerializer(many=True), **AUTH_READ_ERRORS},
    )
)
class FollowersView(_FollowListView):
    edge_user = "follower"

    def filter_edges(self, user):
        return self.get_queryset().filter(followee=user)


@extend_schema_view(
    get=extend_schema(
        tags=["users"],
        operation_id="users_following",
        examples=[
            OpenApiExample(
                "Page",
                value={"next": "https://example.org/api/v1/users/ada/following?cursor=cD0xMjM%3D", "previous": None,
                       "results": [PUBLIC_USER_EXAMPLE]},
                response_only=True,
            )
        ],
        summary="Whom this user follows, most recent first",
        responses={200: PublicUserSerializer(many=True), **AUTH_READ_ERRORS},
    )
)
class FollowingView(_FollowListView):
    edge_user = "followee"

    def filter_edges(self, user):
        return self.get_queryset().filter(follower=user)
