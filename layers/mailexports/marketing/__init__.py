"""Marketing data: the records of the import format and their DynamoDB store."""
