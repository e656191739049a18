"""Deployment add-ons: generators for the CloudFormation and Terraform templates, and helpers."""
