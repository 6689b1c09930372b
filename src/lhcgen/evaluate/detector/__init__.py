"""The detector report of paired particle-level / detector-level events.

- ``matching``: particle-level objects to their detector-level partners (Delta R, greedy);
- ``stats``: binning, robust response/resolution, efficiencies with intervals;
- ``objects``: response, resolution and efficiency per object type, b-tagging, MET;
- ``migration``: the jet-multiplicity migration matrix and the pass table;
- ``plots``: the PNGs; ``report``: ``detector_report`` (JSON, Markdown, HTML).
"""
