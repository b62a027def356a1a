/* A tiny Windows program: filever's tests link a version resource into it. */
int main(void) { return 0; }
