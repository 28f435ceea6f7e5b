"""One parser per message family: the plain sentence and its slots, other
service wordings, EC2, encoded and decoded messages, authorization IDs, SDK
frames and tool operations, EKS and ECR refusals.
"""
