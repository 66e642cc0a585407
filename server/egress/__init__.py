"""Everything that may leave the machine, and the guards around it.

A remote model is reached only through this package: the routing policy (`policy.decide`),
the never-send rules (`rules`), the previewed manifest (`manifest.build_manifest`), the
providers (`providers`), the hash-chained audit log (`audit`) and the two-step
preview/send flow (`flow.Escalations`) that ties them together.  Nothing here runs unless a
user explicitly asks for a remote answer.
"""
