/* SPDX-License-Identifier: MIT */
/* A program that declares no catalog; the ELF tests expect a clear refusal. */
int main(void)
{
	return 0;
}
