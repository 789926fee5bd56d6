"""Evidence that holds up: browser captures of flagged posts, a SHA-256 manifest per batch, RFC 3161 timestamps,
a capture record and one sealed package a complaint, the police or a notary can verify with stock ``openssl``.

Entry points: :func:`capture.capture_posts` (screenshots, page HTML, recordings), :func:`package.seal_batch`
(``scrapy evidence-package``) and :func:`verify.verify_package` (``scrapy verify-evidence``).
"""

from reports.evidence.config import EvidenceConfig

__all__ = ["EvidenceConfig"]
