"""Offline tests of the deployment add-ons (infra/): templates, policies, scripts."""
