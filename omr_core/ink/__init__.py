"""What the page's ink says where a detector's boxes cannot: thin symbols (stems, ledger lines, staves) found
from the ink around what the model found, and boxes drawn tight around their ink."""
