def test_pages_render(client, world, user):
    for url in ["/", "/?tab=news", "/search/?q=news", f"/events/{world[0].pk}/", "/accounts/login/", "/accounts/signup/", "/@reporter/"]:
        r = client.get(url)
        assert r.status_code == 200, url
    client.force_login(user)
    for url in ["/", "/?tab=for-you", "/compose/", "/accounts/settings/", f"/@{user.username}/"]:
        r = client.get(url)
        assert r.status_code == 200, url
