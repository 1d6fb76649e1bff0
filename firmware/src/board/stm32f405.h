/* The few STM32F405 registers the collector touches (RM0090), and the Cortex-M4's SysTick. Our own header:
 * no CMSIS or HAL package exists here, and the collector needs eight registers, not eight thousand. */
#ifndef COLLECTOR_STM32F405_H
#define COLLECTOR_STM32F405_H

#include <stdint.h>

typedef struct {
    volatile uint32_t SR, DR, BRR, CR1, CR2, CR3, GTPR;
} usart_registers;

#define USART1 ((usart_registers *)0x40011000u)
#define USART2 ((usart_registers *)0x40004400u)
#define USART3 ((usart_registers *)0x40004800u)
#define UART4 ((usart_registers *)0x40004C00u)
#define UART5 ((usart_registers *)0x40005000u)
#define USART6 ((usart_registers *)0x40011400u)
#define UART7 ((usart_registers *)0x40007800u)

#define USART_SR_ORE (1u << 3)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_PS (1u << 9)  /* odd parity when set */
#define USART_CR1_PCE (1u << 10)
#define USART_CR1_M (1u << 12)  /* 9 bits: 8 data bits and the parity bit */
#define USART_CR1_UE (1u << 13)
#define USART_CR3_RTSE (1u << 8)
#define USART_CR3_CTSE (1u << 9)

typedef struct {
    volatile uint32_t CR, PLLCFGR, CFGR, CIR, AHB1RSTR, AHB2RSTR, AHB3RSTR, reserved0, APB1RSTR, APB2RSTR,
        reserved1[2], AHB1ENR, AHB2ENR, AHB3ENR, reserved2, APB1ENR, APB2ENR;
} rcc_registers;

#define RCC ((rcc_registers *)0x40023800u)
#define RCC_CR_HSION (1u << 0)
#define RCC_CR_HSIRDY (1u << 1)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
/* PLL from the 16 MHz HSI: /16 = 1 MHz, x336 = 336 MHz, /2 = 168 MHz for the core, /7 = 48 MHz for USB. */
#define RCC_PLLCFGR_168MHZ_FROM_HSI ((16u << 0) | (336u << 6) | (0u << 16) | (0u << 22) | (7u << 24))
/* AHB /1, APB1 /4 (42 MHz), APB2 /2 (84 MHz), system clock from the PLL. */
#define RCC_CFGR_PRESCALERS ((5u << 10) | (4u << 13))
#define RCC_CFGR_SW_PLL 2u
#define RCC_CFGR_SWS_MASK (3u << 2)
#define RCC_CFGR_SWS_PLL (2u << 2)

typedef struct {
    volatile uint32_t ACR;
} flash_registers;

#define FLASH_INTERFACE ((flash_registers *)0x40023C00u)
/* 5 wait states at 168 MHz and 3.3 V, with the prefetch buffer and both caches. */
#define FLASH_ACR_168MHZ ((5u << 0) | (1u << 8) | (1u << 9) | (1u << 10))
#define RCC_APB1ENR_USART2EN (1u << 17)
#define RCC_APB1ENR_USART3EN (1u << 18)
#define RCC_APB1ENR_UART4EN (1u << 19)
#define RCC_APB1ENR_UART5EN (1u << 20)
#define RCC_APB1ENR_UART7EN (1u << 30)
#define RCC_APB2ENR_USART1EN (1u << 4)
#define RCC_APB2ENR_USART6EN (1u << 5)

typedef struct {
    volatile uint32_t KR, PR, RLR, SR;
} iwdg_registers;

#define IWDG ((iwdg_registers *)0x40003000u)
#define IWDG_KEY_RELOAD 0xAAAAu
#define IWDG_KEY_ENABLE 0xCCCCu
#define IWDG_KEY_UNLOCK 0x5555u

typedef struct {
    volatile uint32_t CTRL, LOAD, VAL, CALIB;
} systick_registers;

#define SYSTICK ((systick_registers *)0xE000E010u)
#define SYSTICK_CTRL_ENABLE (1u << 0)
#define SYSTICK_CTRL_TICKINT (1u << 1)
#define SYSTICK_CTRL_CLKSOURCE (1u << 2)

#endif
