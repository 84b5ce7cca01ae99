"""Scripted model servers on 127.0.0.1 that the real agent CLIs talk to in tests.

``core.ScriptedServer`` is the HTTP server (a thread per request, loopback
only, every request recorded); one module per API speaks that API's wire
format from a script of model turns.
"""
