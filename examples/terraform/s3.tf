resource "aws_s3_bucket" "partner_exports" {
  bucket = "partner-exports"
}
