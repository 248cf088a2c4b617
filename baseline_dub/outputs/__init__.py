"""What a dub is and what is written of it: the ``Dub`` (``dub``), its subtitles (``subtitles``) and its dubbed
video (``video``)."""
