"""The web demo (`wordsight serve`), over `wordsight.pipelines` only: handlers.py (validation and pipeline
calls, no Gradio), demo.py (the Gradio Blocks), server.py (launch with safe defaults)."""
