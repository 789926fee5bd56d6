"""Sessions and the refusal policy: per platform, a pool of sessions (cookies + optional proxy), each backed off,
rotated and retired as the platform refuses it, and the platform stopped after N refusals in a row.

* :mod:`crawler.sessions.specs` — which sessions a platform has (saved storage states, anonymous ones, proxies);
* :mod:`crawler.sessions.pool` — their state (healthy, backing off, retired) and the policy's arithmetic;
* :mod:`crawler.sessions.policy` — what ``PlatformSpider.refused()`` does: the retry request, or the stop;
* :mod:`crawler.sessions.middleware` — puts each request on a session (cookie jar or browser context, proxy),
  waits out back-offs, keeps secrets off requests once they are sent, and tells the pool what succeeded.

See docs/sessions.md.
"""
