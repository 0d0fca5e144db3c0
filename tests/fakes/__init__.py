"""Loopback fakes of the paid services, driven by the real SDKs in tests/test_paid_*.py.

Every fake binds 127.0.0.1 on a free port and counts what it is asked, so a test can prove
what was (and was not) sent: fal's queue protocol and storage (fal.py), ElevenLabs sound
effects (elevenlabs.py), YouTube's resumable upload and OAuth token endpoint (youtube.py).
fal and YouTube speak TLS with a throwaway CA (tls.py), because their SDKs insist on https.
netguard/ holds a sitecustomize that makes a runner subprocess refuse any non-loopback
connection or DNS lookup, and log the attempt, so "nothing leaks" is checked, not hoped.
"""
