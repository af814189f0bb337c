"""ImageNet ILSVRC2012 (ilsvrc2012). Importing this package registers its builders."""
