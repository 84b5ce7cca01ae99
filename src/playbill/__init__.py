"""playbill: an actor-model runtime on trio for teams of LLM coding agents."""
