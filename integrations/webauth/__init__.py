"""The web's edge of identity: sign-in pages, sessions and CSRF, API tokens, single sign-on (OIDC),
the signing page and the admin pages. Everything inward receives a verified Actor."""
