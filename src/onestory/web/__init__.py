"""Web plumbing every context uses (templates, CSRF, security headers, sign-in) and, in
``web.app`` alone, the application factory that mounts every context's router."""
