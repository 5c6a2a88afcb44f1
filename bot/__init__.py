"""ScenarioForge: the application (server, CLI, GitHub App auth, jobs, engine)."""
