"""Plain ML code: torch, transformers, peft, safetensors and the standard library only.

Never imports Django, Celery or `prefcontent`; runs on a bare GPU box as
`python -m ml.<tool>`.
"""
