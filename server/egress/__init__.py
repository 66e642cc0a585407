"""Everything that may leave the machine, and the guards around it.

A remote model is reached only through this package: the routing policy (`policy.decide`),
the never-send rules (`rules`), the previewed manifest (`manifest.build_manifest`), the
providers (`providers`), the hash-chained audit log (`audit`) and the two-step
preview/send flow (`flow.Escalations`) that ties them together.  Nothing here runs unless a
user explicitly asks for a remote answer, and nothing is possible until it is configured::

    [remote]
    enabled = true
    allowed_workspaces = ["~/src/myproject"]    # or ["*"]
    never_send = ["internal/**", "*.sqlite"]    # added to the built-in rules

    [remote.providers.openrouter]
    kind = "openai"                             # or "anthropic"
    url = "https://openrouter.ai/api/v1"        # https, or http on loopback only
    model = "qwen/qwen-2.5-coder-32b-instruct"
    api_key_env = "OPENROUTER_API_KEY"          # else the OS keyring (service "stead")
    input_cost_per_mtok = 0.2
    output_cost_per_mtok = 0.2
"""
