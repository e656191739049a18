"""Deploys into MiniStack on 127.0.0.1 by each documented path, then chats (make test-deploy)."""
