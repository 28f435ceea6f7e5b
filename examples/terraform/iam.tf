# The roles and the user the bundled examples' failures name, as a team
# would define them. `authz-diag scan --iac examples/terraform examples/`
# points each fix at the resource below.

data "aws_iam_policy_document" "ci_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = ["arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"]
    }
  }
}

resource "aws_iam_role" "ci_deployer" {
  name               = "ci-deployer"
  assume_role_policy = data.aws_iam_policy_document.ci_assume.json

  tags = {
    team = "platform"
  }
}

resource "aws_iam_role" "backup_job" {
  name = "backup-job"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "ec2.amazonaws.com" }
    }]
  })
}

resource "aws_iam_user" "alice" {
  name = "alice"
}
