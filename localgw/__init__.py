"""Local API Gateway (WebSocket API) emulator that serves the real Chalice app, no AWS needed."""
