"""Code that runs in the cloud, not in the tool: Lambda handlers shipped as-is by the stacks.

Each module depends only on the standard library and what the Lambda runtime provides (boto3).
"""
