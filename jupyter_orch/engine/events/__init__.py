"""The event bus every state change is published on."""
