"""Webhook handlers, one module per event, merged into one router (python/bedevere style)."""
from gidgethub import routing

from handlers import check_run, ci, installation, issue_comment, labels, pull_request, push

router = routing.Router(issue_comment.router, labels.router, installation.router, check_run.router,
                        pull_request.router, ci.router, push.router)
