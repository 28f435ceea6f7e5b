"""The MCP server for AI coding agents: the tools, their typed and size-capped
replies, and errors in MCP terms.
"""
