"""IVR: declarative YAML flows, their validator, a sans-I/O interpreter and its drivers.

=================  ==========================================================================
module             role
=================  ==========================================================================
``schema``         the YAML shape of a flow file (strict pydantic models)
``loader``         section loader: validate, compile to a ``FlowSet``, located diagnostics
``checks``         whole-flow checks (references, reachability, loops, variables, ...)
``expr``           the safe expression language, compiled to closures
``flow``           compiled, immutable flows and nodes; ``FlowSet``
``commands``       what the interpreter asks for, results, outcomes (frozen dataclasses)
``interpreter``    ``CallSession``: one caller through one flow, no I/O
``tester``         offline runs with scripted digits; the flows' embedded test cases
``graph``          Mermaid / Graphviz diagrams
``customers``      ``CustomerLookup`` port and the CSV-backed implementation
``agi``            FastAGI wire protocol, pure parsers
``fastagi``        asyncio FastAGI server, ``QueueSink`` port
``runtime``        ``FlowRegistry``: live flows, reload on change or SIGHUP
``cli``            ``hotline ivr check|test|graph|serve``
=================  ==========================================================================
"""
