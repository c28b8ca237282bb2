"""HTML of the login, logged-out and landing pages.

Kept as Python strings (Jinja2, autoescaped) so they ship with the package without
package-data rules, and self-contained (inline CSS, no scripts, no external fonts) so the
login page needs no other URL to be public and renders offline.
"""

from __future__ import annotations

from typing import Any

from jinja2 import DictLoader, Environment

__all__ = ["render"]

_BASE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{% block title %}octopus{% endblock %}</title>
<link rel="icon" href="{{ base_url }}static/favicons/favicon.ico">
<style>
  :root { --ink:#1f2933; --muted:#616e7c; --line:#d9e2ec; --brand:#0b7285; --brand-dark:#095c6b;
          --bad:#b42318; --bad-bg:#fef3f2; --ok-bg:#ecfdf3; --ok:#027a48; }
  * { box-sizing: border-box; }
  body { margin:0; min-height:100vh; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
         color:var(--ink); background: linear-gradient(160deg, #e6f4f1 0%, #f5f7fa 55%, #eef2f7 100%); }
  .wrap { min-height:100vh; display:flex; align-items:center; justify-content:center; padding:24px; }
  .card { width:100%; max-width:380px; background:#fff; border:1px solid var(--line); border-radius:14px;
          box-shadow: 0 10px 30px rgba(15,40,60,.08); padding:32px 30px 26px; }
  .card.wide { max-width:720px; }
  .brand { display:flex; align-items:center; gap:10px; margin-bottom:6px; }
  .logo { width:34px; height:34px; border-radius:9px; background:var(--brand); color:#fff; display:flex;
          align-items:center; justify-content:center; font-weight:700; font-size:18px; }
  h1 { font-size:21px; margin:0; letter-spacing:.2px; }
  p.sub { color:var(--muted); margin:2px 0 22px; }
  label { display:block; font-weight:600; font-size:13px; margin:14px 0 6px; }
  input[type=text], input[type=password] { width:100%; padding:10px 12px; font-size:15px; border:1px solid #bcccdc;
          border-radius:8px; outline:none; background:#fbfdff; }
  input:focus { border-color:var(--brand); box-shadow:0 0 0 3px rgba(11,114,133,.15); }
  .row { display:flex; align-items:center; gap:8px; margin:16px 0 4px; color:var(--muted); font-size:14px; }
  .row label { margin:0; font-weight:400; font-size:14px; }
  button, .button { display:inline-block; width:100%; margin-top:18px; padding:11px 14px; border:0; border-radius:8px;
          background:var(--brand); color:#fff; font-size:15px; font-weight:600; cursor:pointer; text-align:center;
          text-decoration:none; }
  button:hover, .button:hover { background:var(--brand-dark); }
  .msg { border-radius:8px; padding:10px 12px; margin:0 0 10px; font-size:14px; }
  .msg.error { background:var(--bad-bg); color:var(--bad); border:1px solid #fecdca; }
  .msg.info { background:var(--ok-bg); color:var(--ok); border:1px solid #abefc6; }
  .foot { margin-top:20px; color:var(--muted); font-size:12.5px; text-align:center; }
  ul.dash { list-style:none; padding:0; margin:10px 0 0; }
  ul.dash li { border:1px solid var(--line); border-radius:10px; margin:10px 0; }
  ul.dash a { display:block; padding:12px 14px; color:var(--ink); text-decoration:none; font-weight:600; }
  ul.dash a:hover { background:#f0f7f9; border-radius:10px; }
  ul.dash small { display:block; color:var(--muted); font-weight:400; }
  .top { display:flex; justify-content:space-between; align-items:center; }
  .links a { color:var(--brand); margin-left:14px; text-decoration:none; font-weight:600; }
</style>
</head>
<body><div class="wrap">{% block body %}{% endblock %}</div></body>
</html>
"""

_LOGIN = """{% extends "base" %}
{% block title %}Sign in · octopus{% endblock %}
{% block body %}
<form class="card" method="post" action="{{ base_url }}login?next={{ next | urlencode }}" autocomplete="on">
  <div class="brand"><div class="logo">o</div><h1>octopus</h1></div>
  <p class="sub">Sign in to the campaign dashboards.</p>
  {% if message %}<div class="msg error" role="alert">{{ message }}</div>{% endif %}
  {% if info %}<div class="msg info" role="status">{{ info }}</div>{% endif %}
  {{ xsrf_form_html | safe }}
  <label for="username">Username</label>
  <input type="text" id="username" name="username" value="{{ username }}" autocomplete="username"
         autocapitalize="none" spellcheck="false" required {% if not username %}autofocus{% endif %}>
  <label for="password">Password</label>
  <input type="password" id="password" name="password" autocomplete="current-password" required
         {% if username %}autofocus{% endif %}>
  <div class="row"><input type="checkbox" id="remember" name="remember" value="1"{% if remember %} checked{% endif %}>
    <label for="remember">Keep me signed in on this device</label></div>
  <button type="submit" id="login_submit">Sign in</button>
  <div class="foot">Sessions end after {{ idle_minutes }} minutes without activity.<br>
    Accounts are created by an administrator.</div>
</form>
{% endblock %}
"""

_LOGGED_OUT = """{% extends "base" %}
{% block title %}Signed out · octopus{% endblock %}
{% block body %}
<div class="card">
  <div class="brand"><div class="logo">o</div><h1>octopus</h1></div>
  <p class="sub">&nbsp;</p>
  <div class="msg info" role="status">You are signed out.</div>
  <a class="button" id="login_again" href="{{ base_url }}login">Sign in again</a>
</div>
{% endblock %}
"""

_LANDING = """{% extends "base" %}
{% block title %}Dashboards · octopus{% endblock %}
{% block body %}
<div class="card wide">
  <div class="top">
    <div class="brand"><div class="logo">o</div><h1>Dashboards</h1></div>
    <div class="links"><a href="{{ base_url }}lab" id="open_lab">JupyterLab</a>
      <a href="{{ base_url }}logout" id="logout">Sign out</a></div>
  </div>
  <p class="sub">Signed in as {{ display_name }}.</p>
  {% if dashboards %}
  <ul class="dash">
  {% for d in dashboards %}
    <li><a href="{{ base_url }}voila/render/{{ d.path | urlencode }}" class="dashboard-link">{{ d.title }}</a></li>
  {% endfor %}
  </ul>
  {% else %}
  <p>No dashboards yet: add notebooks to the notebooks folder.</p>
  {% endif %}
</div>
{% endblock %}
"""

_TEMPLATES = {"base": _BASE, "login": _LOGIN, "logged_out": _LOGGED_OUT, "landing": _LANDING}
_ENV = Environment(loader=DictLoader(_TEMPLATES), autoescape=True)


def render(name: str, **context: Any) -> str:
    """Render page ``name`` (``login``, ``logged_out``, ``landing``) with ``context``."""
    return _ENV.get_template(name).render(**context)
