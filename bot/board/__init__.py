"""The review board (issue 12): web pages, live event stream, reports, sign-in with GitHub."""
