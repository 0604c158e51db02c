"""The Jinja templates the generator renders (installed as ``symgrad.templates``, so that
``sg.define`` renders from them in an installed copy too)."""
