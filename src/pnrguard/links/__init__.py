"""Link analysis: who is connected to a traveller, through what, and since when.

Pure: built from keyed digests (the blind index), never from clear text. The service layer
(`service/links.py`) binds every expansion to a purpose and logs it.
"""
