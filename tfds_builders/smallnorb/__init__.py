"""smallNORB (norb_small). Importing this package registers its builders."""
