"""camfx application layer: the command line (``app.cli``) and the Qt GUI (``app.gui``).

Both are thin views over the engine in ``pipelines``; nothing here processes pixels.
"""
